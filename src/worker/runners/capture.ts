/** Keeps at most `limit` bytes of a stream and remembers whether it had to cut. */
export class CappedBuffer {
  private readonly chunks: Buffer[] = []
  private size = 0
  truncated = false

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size
    if (room <= 0) {
      this.truncated = true
      return
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk
    if (kept !== chunk) this.truncated = true
    this.chunks.push(kept)
    this.size += kept.length
  }

  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}
