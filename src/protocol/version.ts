/** The wire protocol version carried as `v` in every payload (DESIGN §3). */
export const PROTOCOL_VERSION = 1 as const
