// Child-process entry of startNetworkProcess(): runs a TestNetwork (PLC + PDS) in a process of
// its own, so a benchmark's AppView and the PDS do not share one Node thread (as in production,
// where PDSes are remote). Prints one line `NETWORK {json}` when ready; answers GET /seq with the
// PDS's current firehose seq on a loopback control port; SIGTERM closes everything.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { TestNetwork } from './network.js'

async function main(): Promise<void> {
  const net = await TestNetwork.start({ faultProxy: process.env.NETWORK_FAULT_PROXY === 'true' })
  const control = http.createServer((req, res) => {
    if (req.url !== '/seq') return void res.writeHead(404).end()
    net.currentSeq().then(
      (seq) => res.end(String(seq)),
      (err: unknown) => res.writeHead(500).end(String(err)),
    )
  })
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()))
  const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`
  process.stdout.write(
    `NETWORK ${JSON.stringify({ plcUrl: net.plcUrl, pdsUrl: net.pdsUrl, pdsDirectUrl: net.pdsDirectUrl, controlUrl })}\n`,
  )
  process.on('SIGTERM', () => {
    control.close()
    net.close().finally(() => process.exit(0))
  })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
