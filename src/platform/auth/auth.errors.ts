/** The token itself is unacceptable: 401 `invalid_token`, with a description safe to show the caller. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
  constructor(readonly description: string) {
    super(description);
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

/** Maps jsonwebtoken's (and passport-jwt's) failures to a description that reveals no configuration. */
export function describeTokenFailure(err: unknown): string {
  if (err instanceof InvalidTokenError) return err.description;
  const e = err as { name?: string; message?: string } | undefined;
  const message = e?.message ?? '';
  switch (e?.name) {
    case 'TokenExpiredError':
      return 'The access token expired';
    case 'NotBeforeError':
      return 'The access token is not valid yet';
  }
  if (message.startsWith('jwt audience invalid')) return 'The access token is not meant for this API';
  if (message.startsWith('jwt issuer invalid')) return 'The access token was issued by another issuer';
  if (message === 'invalid signature') return 'The access token signature is invalid';
  if (message === 'invalid algorithm' || message.startsWith('jwt signature is required')) return 'The access token must be signed with RS256';
  if (message === 'jwt malformed' || message === 'invalid token' || message.startsWith('Unexpected token')) return 'The access token is malformed';
  return 'The access token is invalid';
}
