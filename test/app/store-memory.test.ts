import { MemoryStore } from '../../app/src/store/memory';
import { describeStoreContract } from '../helpers/store-contract';

describeStoreContract('memory', async () => {
  let now = 1_000_000;
  return {
    store: new MemoryStore(() => now),
    advance: async (ms) => {
      now += ms;
    },
  };
});
