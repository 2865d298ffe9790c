import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Gauge, type Registry } from 'prom-client';

/** A `gc` performance entry: its detail says which kind of collection ran. */
type GcEntry = PerformanceEntry & { detail?: { kind?: number } };

/** Heap in use right after this process's last full GC; NaN until the first one. */
let liveHeapBytes = Number.NaN;
let observer: PerformanceObserver | null = null;

function watchMajorGcs(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    const major = list.getEntries().some((e) => (e as GcEntry).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (major) liveHeapBytes = v8.getHeapStatistics().used_heap_size;
  });
  observer.observe({ entryTypes: ['gc'] });
}

/**
 * The heap in use just after the last full (mark-sweep-compact) GC: what the process really holds.
 * `nodejs_heap_size_used_bytes` also counts the garbage of the old generation until V8 gets round to a
 * full GC, so under load it swings between about 80 and 250 MB with the GC's schedule and says little
 * about a leak; a leak is a floor that rises here. Read when the GC's performance entry is delivered,
 * a moment after the GC, so it includes what was allocated in between (small next to the heap).
 */
export function registerHeapAfterGc(registry: Registry, prefix: string): Gauge {
  watchMajorGcs();
  return new Gauge({
    name: `${prefix}nodejs_heap_after_gc_bytes`,
    help: 'Heap in use right after the last full garbage collection (the live heap; a leak shows as a rising floor)',
    registers: [registry],
    collect() {
      this.set(liveHeapBytes); // NaN until the first full GC, rather than a misleading 0
    },
  });
}
