import { errors } from 'jose';

/** The token itself is unacceptable: 401 `invalid_token`, with a description safe to show the caller. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
  constructor(
    readonly description: string,
    options?: ErrorOptions,
  ) {
    super(description, options);
  }
}

/** The issuer's discovery document or keys cannot be fetched now: 503, the caller should retry. */
export class KeySourceUnavailableError extends Error {
  override readonly name = 'KeySourceUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

const CLAIM_FAILURES: Record<string, string> = {
  aud: 'The access token is not meant for this API',
  iss: 'The access token was issued by another issuer',
  nbf: 'The access token is not valid yet',
};

/** Maps jose's verification failures to a description that reveals no configuration. */
export function describeTokenFailure(err: unknown): string {
  if (err instanceof InvalidTokenError) return err.description;
  if (err instanceof errors.JWTExpired) return 'The access token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'exp' && err.reason === 'missing') return 'The access token has no expiry';
    return CLAIM_FAILURES[err.claim] ?? 'The access token is invalid';
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'The access token signature is invalid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'The access token must be signed with RS256';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'The access token is malformed';
  if (err instanceof errors.JWKSNoMatchingKey) return 'The access token was signed with an unknown key';
  return 'The access token is invalid';
}
