import Redis, { ReplyError, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { GET_PINNED, INCREMENT_SCRIPT, PINNED_DEADLINES_KEY, SET_PINNED, SWEEP_PINNED } from './redis-scripts';
import { isPinnedKey, StoreUnavailableError, type Store } from './store';

const SWEEP_INTERVAL_MS = 60_000;
const SWEEP_BATCH = 1000;

/** Every key the gateway writes starts with this, so a shared Redis stays readable. */
export const REDIS_KEY_PREFIX = 'clawdbot:';

/**
 * A command Redis has not answered within this long fails. A healthy Redis answers in well
 * under a millisecond; one that takes a second is hung (or the host is), not busy.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;

/** How long one connection attempt may take, TCP connect to ready. */
const CONNECT_TIMEOUT_MS = 5000;

// ioredis reports a command timeout with a plain Error carrying this message.
const COMMAND_TIMED_OUT = 'Command timed out';
// Redis refuses writes with this once maxmemory is reached and nothing is left to evict.
const OUT_OF_MEMORY = /^OOM /;
// A primary demoted by a failover refuses writes with this until the client finds the new one.
const DEMOTED = /^READONLY /;

/** A Redis server (REDIS_URL), or the primary that Sentinel names (REDIS_SENTINELS). */
export type RedisTarget = { url: string } | { sentinels: Array<{ host: string; port: number }>; primaryName: string };

/**
 * Redis-backed store (REDIS_URL, or REDIS_SENTINELS): sessions, cache, rate limits and dedup shared by every
 * gateway replica. It connects (and reconnects) in the background: the gateway starts even
 * while Redis is away, and /ready answers 503 until it is back.
 *
 * Commands fail fast rather than wait for Redis: there is no offline queue, so while the
 * connection is down a command fails at once. A command that times out (a Redis that accepts
 * connections but does not answer) drops the connection too, so the next commands fail at once
 * until a fresh connection is ready, instead of each waiting out its own timeout.
 *
 * Under maxmemory with a volatile-* policy Redis may evict anything with a TTL (sessions, cached
 * answers, rate-limit windows), never the IM inbox's records: see PINNED_DEADLINES_KEY. A
 * write Redis refuses for want of memory fails like an outage (503), not as a bug.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  /** Set while the connection is down, so an outage is logged once, not per reconnect attempt. */
  private down = false;
  private closing = false;
  /** Settles once the first connection is ready or has failed (or after the connect timeout). */
  private readonly firstConnection: Promise<void>;
  private readonly sweeper = setInterval(() => this.sweepPinned(), SWEEP_INTERVAL_MS).unref();

  /** Another connection, in subscriber mode, made by the first subscribe(). */
  private subscriber?: Redis;

  /** `log` (error.log) hears when the connection is lost and when it is back. */
  constructor(target: RedisTarget, private readonly log?: Logger) {
    const options: RedisOptions = {
      keyPrefix: REDIS_KEY_PREFIX,
      enableOfflineQueue: false,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // How long disconnect() waits for the socket to close before destroying it. Its timer
      // outlives a socket that had already failed (and kept a test run or a shutdown waiting
      // 2 s); a connection dropped here is failed or hung, so nothing is lost by not waiting.
      disconnectTimeout: 0,
      // After a failover the old primary, now a replica, still takes the connection: reconnect,
      // so Sentinel names the new primary (the refused command itself answers 503).
      reconnectOnError: (error) => DEMOTED.test(error.message),
    };
    this.redis =
      'url' in target
        ? new Redis(target.url, options)
        : // failoverDetector: Sentinel's +switch-master moves the connection at once, before a command finds out.
          new Redis({ ...options, sentinels: target.sentinels, name: target.primaryName, failoverDetector: true });
    // Failures surface through the failed commands, /ready and the lines below; without a
    // listener ioredis would also print each reconnect attempt as an unhandled 'error' event.
    this.redis.on('error', () => undefined);
    this.redis.on('close', () => {
      if (this.down || this.closing) return;
      this.down = true;
      this.log?.error('Redis connection lost: requests that need the store answer 503 until it is back');
    });
    this.redis.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.log?.warn('Redis connection is back');
    });
    this.firstConnection = new Promise((resolve) => {
      const timer = setTimeout(resolve, CONNECT_TIMEOUT_MS);
      const settle = () => {
        clearTimeout(timer);
        resolve();
      };
      this.redis.once('ready', settle).once('close', settle);
    });
  }

  /**
   * Runs a command; a connection failure or timeout becomes StoreUnavailableError. Commands
   * sent while the first connection is being made wait for it, so a gateway does not refuse
   * the requests that arrive while it connects; a Redis that refuses it fails them at once.
   */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      await this.firstConnection;
      return await command();
    } catch (error) {
      // Redis answered with an error: the command is wrong, Redis is fine (unless it is full or
      // no longer the primary).
      if (error instanceof ReplyError && !OUT_OF_MEMORY.test((error as Error).message) && !DEMOTED.test((error as Error).message)) throw error;
      if ((error as Error).message === COMMAND_TIMED_OUT) {
        this.log?.error({ timeoutMs: REDIS_COMMAND_TIMEOUT_MS }, 'Redis did not answer in time: reconnecting');
        this.redis.disconnect(true);
      }
      throw new StoreUnavailableError(this.kind, error);
    }
  }

  async get(key: string): Promise<string | null> {
    if (isPinnedKey(key)) return (await this.run(() => this.redis.eval(GET_PINNED, 2, key, PINNED_DEADLINES_KEY))) as string | null;
    return this.run(() => this.redis.get(key));
  }

  private async setPinned(key: string, value: string, ttlSeconds: number, mode: 'NX' | 'always'): Promise<boolean> {
    return (await this.run(() => this.redis.eval(SET_PINNED, 2, key, PINNED_DEADLINES_KEY, value, ttlSeconds * 1000, mode))) === 1;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (isPinnedKey(key)) await this.setPinned(key, value, ttlSeconds ?? 0, 'always');
    else await this.run(() => (ttlSeconds ? this.redis.set(key, value, 'EX', ttlSeconds) : this.redis.set(key, value)));
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (isPinnedKey(key)) return this.setPinned(key, value, ttlSeconds, 'NX');
    return (await this.run(() => this.redis.set(key, value, 'EX', ttlSeconds, 'NX'))) === 'OK';
  }

  async delete(key: string): Promise<void> {
    // The deadlines name keys as Redis does, prefix included (scripts see them so).
    if (isPinnedKey(key)) await this.run(() => this.redis.multi().del(key).zrem(PINNED_DEADLINES_KEY, REDIS_KEY_PREFIX + key).exec());
    else await this.run(() => this.redis.del(key));
  }

  /** Deletes the pinned keys past their deadlines, a batch per round until none is left. */
  private async sweepPinned(): Promise<void> {
    try {
      let swept = SWEEP_BATCH;
      while (swept === SWEEP_BATCH) swept = (await this.run(() => this.redis.eval(SWEEP_PINNED, 1, PINNED_DEADLINES_KEY, SWEEP_BATCH))) as number;
    } catch (error) {
      this.log?.error({ err: error }, 'sweeping expired IM records from Redis failed');
    }
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const [count, ttlMs] = (await this.run(() => this.redis.eval(INCREMENT_SCRIPT, 1, key, Math.max(1, Math.round(windowMs))))) as [number, number];
    return { count, ttlMs };
  }

  async appendToList(key: string, values: string | readonly string[], maxLength: number, ttlSeconds: number): Promise<void> {
    const transaction = this.redis.multi().rpush(key, ...(typeof values === 'string' ? [values] : values)).ltrim(key, -maxLength, -1);
    // EXPIRE 0 would delete the list; 0 means "no expiry" as in set().
    if (ttlSeconds > 0) transaction.expire(key, ttlSeconds);
    const results = await this.run(() => transaction.exec());
    const failure = results?.find(([error]) => error)?.[0];
    if (failure) throw failure;
  }

  async readList(key: string): Promise<string[]> {
    return this.run(() => this.redis.lrange(key, 0, -1));
  }

  async addToSet(key: string, member: string): Promise<void> {
    await this.run(() => this.redis.sadd(key, member));
  }

  async removeFromSet(key: string, member: string): Promise<void> {
    await this.run(() => this.redis.srem(key, member));
  }

  async setMembers(key: string): Promise<string[]> {
    return this.run(() => this.redis.smembers(key));
  }

  async ping(): Promise<void> {
    await this.run(() => this.redis.ping());
  }

  /** Sends `message` to every subscriber of `channel`, on every replica. */
  async publish(channel: string, message: string): Promise<void> {
    await this.run(() => this.redis.publish(REDIS_KEY_PREFIX + channel, message));
  }

  /**
   * Calls `onMessage` with each message published on `channel`, and `onConnected` each time
   * the subscription is (re)made: messages sent while it was down are lost, so a subscriber
   * re-reads what it follows then (also right after subscribing).
   */
  subscribe(channel: string, onMessage: (message: string) => void, onConnected: () => void): void {
    // Subscribing is queued until the connection is up, and redone by ioredis on every reconnect.
    if (!this.subscriber) {
      this.subscriber = this.redis.duplicate({ enableOfflineQueue: true });
      // Its outages are the main connection's too, and are reported there.
      this.subscriber.on('error', () => undefined);
    }
    const name = REDIS_KEY_PREFIX + channel;
    this.subscriber.on('message', (from: string, message: string) => from === name && onMessage(message));
    this.subscriber.on('ready', onConnected);
    this.subscriber.subscribe(name).catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.closing = true;
    this.subscriber?.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
