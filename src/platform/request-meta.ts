/** Facts about the request that services record (never trusted for decisions). */
export interface RequestMeta {
  readonly userAgent: string | null;
  readonly clientAddress: string;
  readonly requestId: string;
}
