/**
 * Globals the host core expects from Node, injected by esbuild into the browser bundle:
 * `Buffer` (./buffer) and `setImmediate` (a MessageChannel queue: unlike setTimeout(0), not
 * clamped to 4 ms, which the emulated transport's polling would feel).
 */
export { Buffer } from './buffer';

const queue: (() => void)[] = [];
let channel: MessageChannel | null = null;

export function setImmediate(fn: (...args: unknown[]) => void, ...args: unknown[]): number {
  queue.push(() => fn(...args));
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => queue.shift()?.();
  }
  channel.port2.postMessage(0);
  return 0;
}
