import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { auth, client } from './client.js';
import { finishSocialSignIn } from './Social.js';
import './styles.css';

// On page load: take another tab's tokens, or refresh (the stored refresh token, or the cookie);
// then finish a return from an identity provider (#tg_code), with the session restored for a link.
void auth.restore().then(finishSocialSignIn);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <App />
    </ApolloProvider>
  </StrictMode>,
);
