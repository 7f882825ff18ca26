/** Set by vite.config.ts from TOKENGATE_URL and AUTH_MODE at build time. */
declare const __TOKENGATE_URL__: string;
declare const __AUTH_MODE__: string;
