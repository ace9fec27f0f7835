// The exchange's datasets by their stable names (exchange.h,
// exchange_dataset_name) with the labels people read.
export const DATASETS = [
  ['persons', '人员信息'],
  ['returns', '返程信息'],
  ['contacts', '接触信息'],
  ['itineraries', '行程信息'],
  ['isolations', '隔离信息'],
  ['cases', '病例状态'],
  ['results', '检测结果'],
  ['nat', '核酸数据接入'],
  ['zones', '封控区域'],
  ['risk_areas', '风险地区'],
  ['stats', '统计数据'],
  ['codes', '健康码互认'],
  ['code_rules', '赋码规则'],
  ['notices', '社区通知'],
];
const LABEL = Object.fromEntries(DATASETS);
export const datasetLabels = (names) => (names || []).map((n) => LABEL[n] || n).join('、') || '—';
