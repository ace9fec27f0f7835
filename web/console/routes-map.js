// 一张图: the command centre's big screen (docs/map.md). It fills the window,
// so its route lies outside the console's frame (screenRoute, router.js); the
// menu entry 一张图大屏 leads to it.
export const screenRoute = { path: '/screen', component: () => import('./views/map/BigScreen.vue'), meta: { perm: 'stats.read', title: '一张图' } };

export default [
  { path: 'big-screen', redirect: '/screen', meta: { menu: '一张图大屏', perm: 'stats.read', icon: 'MapLocation', title: '一张图' } },
];
