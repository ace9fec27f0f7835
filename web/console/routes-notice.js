// 社区互动 > 社区通知 (docs/community.md "Notices"): notices to residents
// with read receipts. Readers (notice.read) see the list and the receipts;
// writers (notice.write) publish, edit, remind and withdraw.
const community = { group: '社区互动', groupIcon: 'ChatDotRound' };

export default [
  { path: 'notices', component: () => import('./views/notice/Notices.vue'), meta: { menu: '社区通知', perm: ['notice.read', 'notice.write'], icon: 'Bell', title: '社区通知（阅读回执）', ...community } },
];
