import type { RedisStore } from '../store/redis';
import type { ModelChoice, ModelChoiceHome } from './model-choice';

/** The store key of the model choice, and the channel that tells replicas it changed. */
const CHOICE_KEY = 'model:choice';
const CHANGED_CHANNEL = 'model:changed';

/**
 * The model choice shared by replicas through Redis: a switch on one replica saves it and
 * publishes a notice; every replica re-reads the key on a notice and whenever its subscription
 * reconnects (notices sent while it was down are lost), and a replica that starts later reads it
 * at start. A notice carries nothing: re-reading makes the last write win on every replica even
 * when two switches' notices cross.
 *
 * Keys never go to Redis: a replica serves the chosen model with its own MODEL_API_KEY (from
 * its environment, i.e. the secret store), so a switch-time key is refused (keepsSwitchKeys).
 */
export class SharedModelChoice implements ModelChoiceHome {
  readonly where = `Redis key ${CHOICE_KEY}`;
  readonly keepsSwitchKeys = false;

  constructor(private readonly store: RedisStore) {}

  load(): Promise<string | undefined> {
    return this.store.get(CHOICE_KEY).then((raw) => raw ?? undefined);
  }

  async save(choice: ModelChoice): Promise<void> {
    await this.store.set(CHOICE_KEY, JSON.stringify(choice));
    await this.store.publish(CHANGED_CHANNEL, choice.switchedAt);
  }

  async discard(): Promise<void> {
    await this.store.delete(CHOICE_KEY);
  }

  watch(onChange: () => void): void {
    this.store.subscribe(CHANGED_CHANNEL, onChange, onChange);
  }
}
