// Hash routing (no server-side fallback needed). Each area of the console
// registers its routes in its own file; `meta.perm` hides a menu entry and
// guards the route for users without that permission, `meta.menu` is the
// menu title, `meta.group` its submenu.
import { createRouter, createWebHashHistory } from 'vue-router';
import { session, loadMe, can } from '@shared/session.js';
import Layout from './Layout.vue';
import { loadVocabularies } from './vocab.js';
import peopleRoutes from './routes-people.js';
import adminRoutes from './routes-admin.js';
import accessRoutes from './routes-access.js';
import statsRoutes from './routes-stats.js';
import caseRoutes from './routes-cases.js';
import natRoutes from './routes-nat.js';
import traceRoutes from './routes-trace.js';
import videoRoutes from './routes-video.js';
// automatic monitoring rules and breaches (docs/monitor.md)
import monitorRoutes from './routes-monitor.js';
import publishRoutes from './routes-publish.js';
import mapRoutes, { screenRoute } from './routes-map.js';
// the data exchange's callers and peers (docs/exchange.md)
import exchangeRoutes from './routes-exchange.js';
// 数据交换 > 交换监控 (docs/exchange.md "Monitoring")
import exchangeWatchRoutes from './routes-exchange-watch.js';
// community services: emergency calls, duty roster (docs/community-services.md)
import serviceRoutes from './routes-service.js';

// 社区互动 > 社区通知 (docs/community.md)
import noticeRoutes from './routes-notice.js';

// community life: shops and orders (issue 14, docs/community-life.md)
import lifeRoutes from './routes-life.js';


// 物资调度 (docs/supplies.md)
import supplyRoutes from './routes-supply.js';


// 企业复工: employees and resume-work applications (docs/enterprise.md)
import enterpriseWorkRoutes from './routes-enterprise-work.js';
import medicalRoutes from './routes-medical.js';
// 安全管理 > 密钥轮换 (docs/keys.md)
import keyRoutes from './routes-keys.js';

export const pageRoutes = [...peopleRoutes, ...caseRoutes, ...traceRoutes, ...natRoutes, ...statsRoutes, ...mapRoutes, ...monitorRoutes, ...publishRoutes, ...accessRoutes, ...videoRoutes, ...exchangeRoutes, ...exchangeWatchRoutes, ...adminRoutes, ...serviceRoutes, ...noticeRoutes, ...lifeRoutes, ...supplyRoutes, ...enterpriseWorkRoutes, ...medicalRoutes, ...keyRoutes];

const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', component: () => import('./views/Login.vue'), meta: { public: true } },
    // the big screen fills the window: outside the console's frame
    screenRoute,
    { path: '/', component: Layout, redirect: '/home', children: pageRoutes },
    { path: '/:rest(.*)*', redirect: '/home' },
  ],
});

router.beforeEach(async (to) => {
  if (!session.loaded) await loadMe();
  // residents use the mobile pages; the sign-in page tells them so
  const staff = session.me && session.me.kind !== 'resident';
  if (to.path === '/login' && staff) return { path: '/home' };
  if (to.meta.public) return true;
  if (!staff) return { path: '/login', query: session.me ? {} : { next: to.fullPath } };
  // a pending step (password change, second-factor enrolment) comes first:
  // the server refuses everything else until it is done
  if (session.me.pending && to.path !== '/account') return { path: '/account' };
  if (!can(to.meta.perm)) return { path: '/home' };
  // every page reads its choices and labels from the server's vocabularies
  // (vocab.js): loaded once, before the first page that needs them
  await loadVocabularies().catch(() => {});
  return true;
});

export default router;
