// 信息发布 (docs/publish.md): publications composed of blocks, approved by a
// second person, versioned and withdrawn; the news and public-opinion feed
// items waiting for approval. Composers (publish.edit) and approvers
// (publish.approve) both open the lists; each button asks for its own.
const pub = { group: '信息发布', groupIcon: 'Promotion' };
const either = ['publish.edit', 'publish.approve'];

export default [
  { path: 'publish', component: () => import('./views/publish/Publications.vue'), meta: { menu: '发布内容', perm: either, icon: 'Document', title: '发布内容（草稿、审核、版本）', ...pub } },
  { path: 'publish/:id', component: () => import('./views/publish/Editor.vue'), meta: { perm: either, title: '编辑发布内容' } },
  { path: 'publish/feed', component: () => import('./views/publish/FeedItems.vue'), meta: { menu: '动态与舆情', perm: either, icon: 'ChatLineSquare', title: '最新动态与舆情' , ...pub } },
];
