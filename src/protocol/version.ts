/** The wire protocol version carried as `v` in every payload (docs/protocol.md §5). */
export const PROTOCOL_VERSION = 1 as const
