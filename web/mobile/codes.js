// Health-code and declaration vocabularies with the server's names
// (src/health/health.c, src/code/engine.c) and their Chinese labels: the
// symptoms are the server's vocabulary (vocab.js), re-exported here for the
// forms that import them with the colours.
import { COLOURS as CODE_COLOURS, label } from './vocab.js';

export { SYMPTOMS } from './vocab.js';

// a colour's name from the server's vocabulary (vocab.js), its hue here
const HEX = { green: '#07c160', yellow: '#f5a623', red: '#ee0a24' };
export const COLOURS = Object.fromEntries(
  Object.entries(HEX).map(([k, hex]) => [k, { hex, get text() { return label(CODE_COLOURS, k); } }]),
);
export const colourHex = (c) => COLOURS[c]?.hex || '#969799';

export const TEST_RESULTS = { negative: '阴性', positive: '阳性', pool_positive: '混管阳性，待复核' };

export const DIRECTIONS = [
  { value: 'in', text: '进入' },
  { value: 'out', text: '离开' },
];
