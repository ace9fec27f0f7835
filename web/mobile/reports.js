// How a report's state looks on the phone: the tag colour, and a line for
// the reporter on what the state means. The state names are the server's
// (incident_states); their Chinese labels come with each reply.
export const STATE_TAG = { reported: 'primary', verifying: 'warning', observed: 'danger', transferred: 'danger', closed: 'default' };

export const OUTCOME_TEXT = {
  reported: '上报已收到，等待指挥中心处理',
  verifying: '网格员将入户核实',
  observed: '经核实，相关人员已纳入隔离观察',
  transferred: '经核实，相关人员已转送定点医院',
  closed: '已结案',
};
