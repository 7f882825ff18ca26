import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// TOKENGATE_URL and AUTH_MODE (header | cookie) are the built-in defaults;
// the page's ?api= and ?mode= override them (handy for trying both modes).
export default defineConfig({
  plugins: [react()],
  define: {
    __TOKENGATE_URL__: JSON.stringify(process.env.TOKENGATE_URL ?? 'http://localhost:4000/graphql'),
    __AUTH_MODE__: JSON.stringify(process.env.AUTH_MODE ?? 'header'),
  },
  server: { port: 5173, strictPort: true },
  preview: { port: 5173, strictPort: true },
  build: { sourcemap: true },
});
