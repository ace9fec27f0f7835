// Health-code and declaration vocabularies with the server's names
// (src/health/health.c, src/code/engine.c) and their Chinese labels.
export const SYMPTOMS = [
  { value: 'fever', text: '发热' }, { value: 'cough', text: '咳嗽' }, { value: 'fatigue', text: '乏力' },
  { value: 'shortness_of_breath', text: '气促' }, { value: 'vomiting', text: '呕吐' },
  { value: 'diarrhoea', text: '腹泻' }, { value: 'rash', text: '皮疹' }, { value: 'headache', text: '头痛' },
  { value: 'other', text: '其他' },
];

export const COLOURS = {
  green: { text: '绿码', hex: '#07c160' },
  yellow: { text: '黄码', hex: '#f5a623' },
  red: { text: '红码', hex: '#ee0a24' },
};
export const colourHex = (c) => COLOURS[c]?.hex || '#969799';

export const TEST_RESULTS = { negative: '阴性', positive: '阳性' };

export const DIRECTIONS = [
  { value: 'in', text: '进入' },
  { value: 'out', text: '离开' },
];
