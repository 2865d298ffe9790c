/** Names of the OAuth 2.0 security schemes in the OpenAPI document (swagger.ts defines them). */
export const OAUTH_CLIENT_CREDENTIALS = 'oauth2-client-credentials';
export const OAUTH_AUTHORIZATION_CODE = 'oauth2-authorization-code';
