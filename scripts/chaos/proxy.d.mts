/** Types of scripts/chaos/proxy.mjs for the TypeScript tests. */
export declare class TcpProxy {
  constructor(options: { name: string; listenPort: number; targetPort: number; host?: string });
  readonly isCut: boolean;
  listen(): Promise<TcpProxy>;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}
