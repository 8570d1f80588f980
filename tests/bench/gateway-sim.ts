import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startSimulator } from '../../gateway/simulator/simulator.ts';

/**
 * The gateway benchmark's cameras, in a process of their own so that their CPU cost
 * (RTSP server, RTP packetising of a looped file) can be read from /proc apart from
 * the gateway's. Argument: JSON `{ count, sourceFile, width, height, fps, codec?, gopSeconds? }`
 * (codec and GOP as the file was encoded: the cameras advertise them over ONVIF). Prints one
 * line `{"ready":true,"cameras":[…]}` on stdout, then runs until SIGTERM or stdin closes.
 * Each `stats` line on stdin is answered with `{"stats":{…}}`: this process's event-loop
 * delay since the last answer (a starved loop delays the cameras' frames).
 */
interface SimArgs { count: number; sourceFile: string; width: number; height: number; fps: number; codec?: 'h264' | 'h265'; gopSeconds?: number }

const args = JSON.parse(process.argv[2] ?? '{}') as SimArgs;
const sim = await startSimulator({
  cameras: Array.from({ length: args.count }, (_, i) => ({
    id: `gw-bench-${i}`, name: `基准相机-${i}`, ptz: false,
    width: args.width, height: args.height, fps: args.fps, sourceFile: args.sourceFile,
    ...(args.codec ? { codec: args.codec } : {}), ...(args.gopSeconds ? { gopSeconds: args.gopSeconds } : {}),
  })),
  host: '127.0.0.1',
  idleStopMs: 2000,
});

process.stdout.write(`${JSON.stringify({
  ready: true,
  cameras: sim.cameras.map((c) => ({
    id: c.spec.id, name: c.spec.name, onvifPort: c.onvifPort, rtsp: c.rtspUri('main'), username: c.spec.username, password: c.spec.password,
  })),
})}\n`);

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stats') return;
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  process.stdout.write(`${JSON.stringify({ stats: { loopDelayP50Ms: ms(loop.percentile(50)), loopDelayP99Ms: ms(loop.percentile(99)), loopDelayMaxMs: ms(loop.max) } })}\n`);
  loop.reset();
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  const hard = setTimeout(() => process.exit(1), 5000);
  void sim.close().finally(() => { clearTimeout(hard); process.exit(0); });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
