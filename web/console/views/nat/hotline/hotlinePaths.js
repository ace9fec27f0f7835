// Where the hotline ticket resources live (docs/hotline.md), kept beside
// the pages that use them; calls go through the console's api.js.
const V1 = '/api/v1/hotline';

export const hotlinePaths = {
  tickets: `${V1}/tickets`,
  rules: `${V1}/rules`,
  counts: `${V1}/counts`,
  importUrl: `${V1}/import`,
  template: `${V1}/template.xlsx`,
};
