import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { projectRoot } from '../../src/util/project-root.js'

export interface Exited {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs the real process entry (src/bin.ts through tsx) with exactly the given environment
 * (plus PATH/HOME), the way an operator runs `npm start`.
 */
export function spawnAppview(env: Record<string, string>): { child: ChildProcess; exited: Promise<Exited> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot(), 'src/bin.ts')], {
    cwd: projectRoot(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<Exited>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  return { child, exited }
}

/** Resolves once the child's stdout contains `text`. */
export function waitForOutput(child: ChildProcess, text: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms; got: ${seen}`)), timeoutMs)
    child.stdout!.on('data', (d) => {
      seen += d
      if (seen.includes(text)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
}
