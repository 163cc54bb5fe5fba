// A TestNetwork in a child process (see network-child.ts), driven from this one over HTTP:
// accounts and records through the PDS's API, the firehose bridge over its websocket.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { IdResolver } from '@atproto/identity'
import { projectRoot } from '../../src/util/project-root.js'
import {
  FirehoseBridge,
  createAccountOn,
  createDidOn,
  type EventSink,
  type NetworkLike,
  type TestAccount,
} from './network.js'

interface ChildInfo {
  plcUrl: string
  pdsUrl: string
  pdsDirectUrl: string
  controlUrl: string
}

export async function startNetworkProcess(): Promise<NetworkLike> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot(), 'test/_util/network-child.ts')], {
    cwd: projectRoot(),
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const info = await new Promise<ChildInfo>((resolve, reject) => {
    let buf = ''
    const onData = (d: Buffer) => {
      buf += d.toString()
      const line = buf.split('\n').find((l) => l.startsWith('NETWORK '))
      if (line) {
        child.stdout!.off('data', onData)
        resolve(JSON.parse(line.slice('NETWORK '.length)) as ChildInfo)
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`the network process exited (${code}) before it was ready`)))
  })
  child.stdout!.resume()
  return new RemoteNetwork(child, info)
}

class RemoteNetwork implements NetworkLike {
  readonly plcUrl: string
  readonly pdsUrl: string
  readonly pdsDirectUrl: string
  private readonly bridges = new Set<FirehoseBridge>()

  constructor(
    private readonly child: ChildProcess,
    private readonly info: ChildInfo,
  ) {
    this.plcUrl = info.plcUrl
    this.pdsUrl = info.pdsUrl
    this.pdsDirectUrl = info.pdsDirectUrl
  }

  idResolver(): IdResolver {
    return new IdResolver({ plcUrl: this.plcUrl, fetch: globalThis.fetch })
  }

  async currentSeq(): Promise<number> {
    const res = await fetch(`${this.info.controlUrl}/seq`)
    if (!res.ok) throw new Error(`network process: /seq answered ${res.status}`)
    return Number(await res.text())
  }

  createAccount(name: string): Promise<TestAccount> {
    return createAccountOn(this.pdsDirectUrl, name)
  }

  createDid(opts: { pds: string; handle: string }): Promise<string> {
    return createDidOn(this.plcUrl, opts)
  }

  async startBridge(sink: EventSink, opts: { cursor?: number } = {}): Promise<FirehoseBridge> {
    const bridge = new FirehoseBridge(this, sink, opts.cursor ?? (await this.currentSeq()))
    this.bridges.add(bridge)
    bridge.start()
    return bridge
  }

  async close(): Promise<void> {
    for (const b of this.bridges) await b.close().catch(() => {})
    if (this.child.exitCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGTERM')
    await exited
  }
}
