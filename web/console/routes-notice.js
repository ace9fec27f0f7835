// 社区互动 > 社区通知 (docs/community.md "Notices"): notices to residents
// with read receipts; articles and polls. Readers (notice.read) see the list and the receipts;
// writers (notice.write) publish, edit, remind and withdraw.
const community = { group: '社区互动', groupIcon: 'ChatDotRound' };

export default [
  { path: 'notices', component: () => import('./views/notice/Notices.vue'), meta: { menu: '社区通知', perm: ['notice.read', 'notice.write'], icon: 'Bell', title: '社区通知（阅读回执）', ...community } },
  // 知识与资讯 and 社区协商 (docs/community.md "Knowledge and news", "Polls")
  { path: 'articles', component: () => import('./views/notice/Articles.vue'), meta: { menu: '知识与资讯', perm: ['notice.read', 'notice.write'], icon: 'Reading', title: '防疫知识、要闻与自查指引', ...community } },
  { path: 'polls', component: () => import('./views/notice/Polls.vue'), meta: { menu: '社区协商', perm: ['notice.read', 'notice.write'], icon: 'Histogram', title: '问卷与协商', ...community } },
];
