// Progress output for the operator CLI: a redrawn bar on a terminal, plain lines otherwise
// (logs, pipes, CI), one line per change at most once a second.

export interface ProgressState {
  label: string
  done: number
  total: number
  detail: string
}

export interface ProgressReporter {
  update(state: ProgressState): void
  finish(line: string): void
}

export function createProgress(stream: NodeJS.WriteStream = process.stdout): ProgressReporter {
  return stream.isTTY ? new BarProgress(stream) : new LineProgress(stream)
}

class BarProgress implements ProgressReporter {
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(s: ProgressState): void {
    const width = 24
    const ratio = s.total > 0 ? Math.min(1, s.done / s.total) : 0
    const filled = Math.round(ratio * width)
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
    const pct = `${Math.round(ratio * 100)}`.padStart(3)
    const line = `${s.label} ${bar} ${pct}% ${s.done}/${s.total} ${s.detail}`
    const cols = this.stream.columns ?? 120
    this.stream.write(`\r\x1b[2K${line.slice(0, cols - 1)}`)
  }

  finish(line: string): void {
    this.stream.write(`\r\x1b[2K${line}\n`)
  }
}

class LineProgress implements ProgressReporter {
  private last = ''
  private lastAt = 0

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(s: ProgressState): void {
    const line = `${s.label}: ${s.done}/${s.total} ${s.detail}`
    const now = Date.now()
    if (line === this.last || now - this.lastAt < 1000) return
    this.last = line
    this.lastAt = now
    this.stream.write(`${line}\n`)
  }

  finish(line: string): void {
    this.stream.write(`${line}\n`)
  }
}
