// 居民服务: residents' emergency calls live and the duty roster
// (docs/community-services.md). Staff in scope read them (service.read).
export default [
  { path: 'service', component: () => import('./views/service/Service.vue'), meta: { menu: '居民服务', perm: 'service.read', icon: 'FirstAidKit', title: '居民服务' } },
];
