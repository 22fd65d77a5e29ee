// Preloaded (node --import) into the drill CLI by bench/scale-bench.ts. It changes nothing in the
// drill: on exit it writes this process's own peak RSS and CPU time for the scale curve.
import { readFileSync, writeFileSync } from 'node:fs';

const target = process.env.NMIA_BENCH_RSS_FILE;
if (target) {
  // Only the harness process itself reports; the processes it starts must not inherit the request.
  delete process.env.NMIA_BENCH_RSS_FILE;
  process.on('exit', () => {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    const cpu = process.cpuUsage();
    writeFileSync(
      target,
      JSON.stringify({ vmHwmKb: Number(hwm ?? 0), maxRssKb: process.resourceUsage().maxRSS, cpuMs: (cpu.user + cpu.system) / 1000 }),
    );
  });
}
