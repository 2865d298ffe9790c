/** Types of scripts/oidc-provider.mjs for the TypeScript tests. */
export declare const API_SCOPES: string[];
export declare const DEFAULT_AUDIENCE: string;
export declare const DEFAULT_PORT: number;
export interface DemoClient {
  clientId: string;
  clientSecret: string;
  scopes: string[];
}
export declare const DEFAULT_CLIENTS: DemoClient[];
export declare const DEFAULT_CORS_ORIGINS: string[];
export interface OidcProviderOptions {
  port?: number;
  host?: string;
  issuer?: string;
  audience?: string;
  clients?: DemoClient[];
  corsOrigins?: string[] | ((origin: string) => boolean);
  accessTokenTtlSeconds?: number;
}
export interface RunningOidcProvider {
  issuer: string;
  audience: string;
  port: number;
  tokenUrl: string;
  /** Tests only: signs the claims as given with the provider's key (RS256, its kid). */
  signToken(claims: Record<string, unknown>, header?: Record<string, unknown>): string;
  close(): Promise<void>;
}
export declare function startOidcProvider(options?: OidcProviderOptions): Promise<RunningOidcProvider>;
export declare function issueTestToken(options?: { issuer?: string; clientId?: string; clientSecret?: string; scope?: string }): Promise<string>;
