// 视频监控: the camera ledger (docs/video.md) — cameras, the objects they
// watch, public toilets and their cameras, playback and snapshots. The home
// isolation checks on public video live on an observation's page.
const video = { group: '视频监控', groupIcon: 'VideoCamera' };

export default [
  { path: 'cameras', component: () => import('./views/video/Cameras.vue'), meta: { menu: '摄像头台账', perm: 'camera.read', icon: 'VideoCamera', title: '视频监控台账', ...video } },
];
