// Where the nucleic-acid testing resources live (docs/nat.md), kept beside
// the pages that use them; calls go through the console's api.js.
const V1 = '/api/v1/nat';

export const natPaths = {
  sites: `${V1}/sites`,
  clockins: `${V1}/clockins`,
  plans: `${V1}/plans`,
  industries: `${V1}/industries`,
  citySites: `${V1}/city-sites`,
  samples: `${V1}/samples`,
  tubes: `${V1}/tubes`,
  scans: `${V1}/scans`,
  results: `${V1}/results`,
  batches: `${V1}/batches`,
  boxes: `${V1}/boxes`,
  retests: `${V1}/retests`,
  stats: `${V1}/stats`,
  rounds: `${V1}/rounds`,
};
