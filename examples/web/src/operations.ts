import { gql, type TypedDocumentNode } from '@apollo/client';

export interface User {
  id: string;
  username: string;
  roles: string[];
  createdAt: string;
}

export interface Session {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  current: boolean;
}

export const ME: TypedDocumentNode<{ me: User }> = gql`
  query Me {
    me { id username roles createdAt }
  }
`;

export const MY_SESSIONS: TypedDocumentNode<{ mySessions: Session[] }> = gql`
  query MySessions {
    mySessions { id createdAt lastUsedAt expiresAt userAgent current }
  }
`;

export const PROTECTED: TypedDocumentNode<{ protected: { loggedInAs: string } }> = gql`
  query Protected {
    protected { loggedInAs }
  }
`;

export const REVOKE_SESSION: TypedDocumentNode<{ revokeSession: boolean }, { id: string }> = gql`
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id)
  }
`;

export const CHANGE_PASSWORD: TypedDocumentNode<
  { changePassword: { accessToken: string; refreshToken: string; user: { id: string; username: string; roles: string[] } } },
  { currentPassword: string; newPassword: string }
> = gql`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
      accessToken
      refreshToken
      user { id username roles }
    }
  }
`;
