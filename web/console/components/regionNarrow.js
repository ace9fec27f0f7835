// The region the user narrowed the console to (header tree), shared by the
// pages that list records by region. Empty means the whole scope.
import { reactive } from 'vue';

export const narrow = reactive({ regionCode: '' });
