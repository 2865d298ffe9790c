import type { INestApplication } from '@nestjs/common';
import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface.js';
import type { NextFunction, Request, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import type { AppConfig } from '../../config/app.config.js';
import { authConfig } from '../../config/auth.config.js';

/** Headers a browser may send to, and read from, the API when CORS_ORIGINS allows its origin. */
const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-None-Match', 'X-Correlation-Id'];
const CORS_EXPOSED_HEADERS = ['ETag', 'Location', 'Retry-After', 'WWW-Authenticate', 'X-Correlation-Id', 'Idempotent-Replayed'];

/**
 * Security headers and CORS, installed before anything else reads the request. Body size (413),
 * JSON only (415), authentication and rate limits live in bootstrap, middleware and the global guards.
 */
export function applyHttpSecurity(app: INestApplication, cfg: AppConfig): void {
  const https = cfg.publicUrl.startsWith('https:');
  app.use(helmet(helmetOptions(new URL(authConfig().issuer).origin, https)));
  app.use('/api', noStore);
  if (cfg.corsOrigins.length) app.enableCors(corsOptions(cfg.corsOrigins));
}

/**
 * The CSP lets Swagger UI (its own scripts, its inline styles and data: images) work and call the
 * issuer's token endpoint.
 */
function helmetOptions(issuerOrigin: string, https: boolean): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", issuerOrigin],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // Swagger UI's authorization-code flow opens the issuer in a popup that reports back through
    // window.opener; plain `same-origin` would cut that link.
    crossOriginOpenerPolicy: { policy: 'same-origin-allow-popups' },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: https ? { maxAge: 31536000, includeSubDomains: true } : false,
  };
}

/** Answers carry orders and customers' addresses: no shared cache may keep them (the order reads relax it to `private, no-cache`). */
function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Cache-Control', 'no-store');
  next();
}

function corsOptions(origins: string[]): CorsOptions {
  return {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
  };
}
