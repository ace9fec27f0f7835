// Hash routing, one audience per route: `meta.kind` says whether a page is
// for residents or staff, and the guard sends everyone to the first step
// they still owe. A resident: consent, then registration, then their own
// information. Staff: a pending password change, then their home page.
import { createRouter, createWebHashHistory } from 'vue-router';
import { session, loadMe } from '@shared/session.js';
import { resident, loadConsent } from './resident.js';
import { loadVocabularies } from './vocab.js';

const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', component: () => import('./views/Login.vue'), meta: { public: true } },
    { path: '/consent', component: () => import('./views/Consent.vue'), meta: { kind: 'resident' } },
    { path: '/register', component: () => import('./views/Register.vue'), meta: { kind: 'resident' } },
    { path: '/me', component: () => import('./views/MyInfo.vue'), meta: { kind: 'resident', tab: true } },
    { path: '/code', component: () => import('./views/MyCode.vue'), meta: { kind: 'resident', tab: true } },
    { path: '/declare', component: () => import('./views/Declare.vue'), meta: { kind: 'resident', tab: true } },
    { path: '/scan', component: () => import('./views/ScanVenue.vue'), meta: { kind: 'resident', tab: true } },
    { path: '/me/edit', component: () => import('./views/MyEdit.vue'), meta: { kind: 'resident' } },
    { path: '/visitors', component: () => import('./views/MyVisitors.vue'), meta: { kind: 'resident' } },
    { path: '/visitors/new', component: () => import('./views/VisitorNew.vue'), meta: { kind: 'resident' } },
    { path: '/me/certificates', component: () => import('./views/MyCertificates.vue'), meta: { kind: 'resident' } },
    { path: '/me/nat-results', component: () => import('./views/MyNatResults.vue'), meta: { kind: 'resident' } },
    { path: '/me/certificate/:id', component: () => import('./views/MyCertificate.vue'), meta: { kind: 'resident' } },
    { path: '/vehicles', component: () => import('./views/MyVehicles.vue'), meta: { kind: 'resident' } },
    { path: '/me/trips', component: () => import('./views/MyTrips.vue'), meta: { kind: 'resident' } },
    { path: '/report', component: () => import('./views/Report.vue'), meta: { kind: 'resident' } },
    { path: '/my-reports', component: () => import('./views/MyReports.vue'), meta: { kind: 'resident' } },
    { path: '/my-reports/:id', component: () => import('./views/MyReportDetail.vue'), meta: { kind: 'resident' } },
    { path: '/self-check', component: () => import('./views/SelfCheck.vue'), meta: { kind: 'resident' } },
    { path: '/staff', component: () => import('./views/StaffHome.vue'), meta: { kind: 'staff' } },
    { path: '/staff/password', component: () => import('./views/StaffPassword.vue'), meta: { kind: 'staff' } },
    { path: '/staff/scan', component: () => import('./views/StaffScan.vue'), meta: { kind: 'staff' } },
    { path: '/staff/verify', component: () => import('./views/StaffScan.vue'), meta: { kind: 'staff', record: true } },
    { path: '/staff/persons/:id', component: () => import('./views/StaffPerson.vue'), meta: { kind: 'staff' } },
    { path: '/staff/alerts', component: () => import('./views/StaffAlerts.vue'), meta: { kind: 'staff' } },
    { path: '/staff/visitors', component: () => import('./views/StaffVisitors.vue'), meta: { kind: 'staff' } },
    { path: '/staff/certificates/verify', component: () => import('./views/StaffCertVerify.vue'), meta: { kind: 'staff' } },
    { path: '/staff/tasks', component: () => import('./views/StaffTasks.vue'), meta: { kind: 'staff' } },
    { path: '/staff/report', component: () => import('./views/Report.vue'), meta: { kind: 'staff' } },
    { path: '/staff/observations', component: () => import('./views/Observations.vue'), meta: { kind: 'staff' } },
    { path: '/staff/check', component: () => import('./views/CheckPage.vue'), meta: { kind: 'staff' } },
    { path: '/staff/observations/:id', component: () => import('./views/ObservationDetail.vue'), meta: { kind: 'staff' } },
    { path: '/staff/overview', component: () => import('./views/StaffOverview.vue'), meta: { kind: 'staff' } },
    // automatic monitoring: today's breaches in scope (docs/monitor.md)
    { path: '/staff/monitor', component: () => import('./views/StaffMonitor.vue'), meta: { kind: 'staff' } },
    { path: '/staff/nat', component: () => import('./views/StaffNat.vue'), meta: { kind: 'staff' } },
    { path: '/staff/nat/sample', component: () => import('./views/StaffSample.vue'), meta: { kind: 'staff' } },
    { path: '/staff/nat/pack', component: () => import('./views/StaffBox.vue'), meta: { kind: 'staff', mode: 'pack' } },
    { path: '/staff/nat/transport', component: () => import('./views/StaffBox.vue'), meta: { kind: 'staff', mode: 'take' } },
    { path: '/staff/nat/receive', component: () => import('./views/StaffBox.vue'), meta: { kind: 'staff', mode: 'receive' } },
    // the 14-day itinerary card (issue 11): the resident's own, staff verify
    { path: '/me/itinerary', component: () => import('./views/MyItinerary.vue'), meta: { kind: 'resident' } },
    // the telecom operator's visited places, the resident's own (docs/exchange.md "Connectors")
    { path: '/me/visited', component: () => import('./views/MyVisited.vue'), meta: { kind: 'resident' } },
    { path: '/staff/itinerary/verify', component: () => import('./views/StaffItineraryVerify.vue'), meta: { kind: 'staff' } },
    // 社区通知: the notices addressed to the resident (docs/community.md "Notices")
    { path: '/notices', component: () => import('./views/Notices.vue'), meta: { kind: 'resident' } },
    { path: '/notices/:id', component: () => import('./views/NoticeDetail.vue'), meta: { kind: 'resident' } },
    // daily goods (issue 14, docs/community-life.md): residents order, the shop's account sells
    { path: '/shop', component: () => import('./views/LifeShops.vue'), meta: { kind: 'resident' } },
    { path: '/shop/:id', component: () => import('./views/LifeShop.vue'), meta: { kind: 'resident' } },
    { path: '/my-orders', component: () => import('./views/MyOrders.vue'), meta: { kind: 'resident' } },
    { path: '/staff/shop', component: () => import('./views/StaffShop.vue'), meta: { kind: 'staff' } },
    { path: '/staff/parcel', component: () => import('./views/StaffParcel.vue'), meta: { kind: 'staff' } },
    // 消杀巡查 (issue 14, docs/community-services.md): staff record a disinfection or patrol
    { path: '/staff/inspect', component: () => import('./views/StaffInspect.vue'), meta: { kind: 'staff' } },
    // face access with consent (docs/face.md)
    { path: '/me/face', component: () => import('./views/MyFace.vue'), meta: { kind: 'resident' } },
    // parking guidance: the community's garages' free spaces (docs/parking.md)
    { path: '/me/parking', component: () => import('./views/MyParking.vue'), meta: { kind: 'resident' } },
    // knowledge, news and the self-check guide; polls (docs/community.md "Knowledge and news", "Polls")
    { path: '/articles', component: () => import('./views/Articles.vue'), meta: { kind: 'resident' } },
    { path: '/articles/:id', component: () => import('./views/ArticleDetail.vue'), meta: { kind: 'resident' } },
    { path: '/polls', component: () => import('./views/Polls.vue'), meta: { kind: 'resident' } },
    { path: '/polls/:id', component: () => import('./views/PollDetail.vue'), meta: { kind: 'resident' } },
    // 我要求助: a resident's help requests (docs/community-services.md)
    { path: '/me/help', component: () => import('./views/MyHelp.vue'), meta: { kind: 'resident' } },
    // 环境线索: a resident's reports of problems in the community (docs/community-services.md)
    { path: '/me/clues', component: () => import('./views/MyClues.vue'), meta: { kind: 'resident' } },
    // volunteers: apply, sign up for projects, service hours (docs/community-life.md "Volunteers")
    { path: '/me/volunteer', component: () => import('./views/LifeVolunteer.vue'), meta: { kind: 'resident' } },
    // community staff record volunteers' service time on the phone (docs/community-life.md "Volunteers")
    { path: '/staff/volunteer-hours', component: () => import('./views/StaffVolunteerHours.vue'), meta: { kind: 'staff' } },
    // 床位填报: hospital staff report their institution's figures (docs/supplies.md "Medical resources")
    { path: '/staff/medical', component: () => import('./views/StaffMedical.vue'), meta: { kind: 'staff' } },
    // 电子订货接单: the supplier's own orders (docs/supplies.md "The supplier's orders")
    { path: '/staff/supply-orders', component: () => import('./views/StaffSupplyOrders.vue'), meta: { kind: 'staff' } },
    // 物资签收: deliveries to the staff's region, signed with the shortfall (docs/supplies.md)
    { path: '/staff/receipts', component: () => import('./views/StaffReceipts.vue'), meta: { kind: 'staff' } },
    // enterprise staff (docs/enterprise.md): the employee's clock-in and declaration,
    // the enterprise account's day
    { path: '/me/clockin', component: () => import('./views/MyClockin.vue'), meta: { kind: 'resident' } },
    { path: '/me/return-declaration', component: () => import('./views/MyReturnDecl.vue'), meta: { kind: 'resident' } },
    { path: '/staff/employees-today', component: () => import('./views/StaffEmployeesToday.vue'), meta: { kind: 'staff' } },
    { path: '/me/staff-pass', component: () => import('./views/MyStaffPass.vue'), meta: { kind: 'resident' } },
    { path: '/staff/pass-verify', component: () => import('./views/StaffPassVerify.vue'), meta: { kind: 'staff' } },
    // 人员查询, 人员登记, 场所查询, 企业查询 (docs/web.md "Staff look-ups on the phone"): the registry's searches on the phone
    { path: '/staff/persons', component: () => import('./views/StaffPersons.vue'), meta: { kind: 'staff' } },
    { path: '/staff/persons/new', component: () => import('./views/StaffPersonNew.vue'), meta: { kind: 'staff' } },
    { path: '/staff/places', component: () => import('./views/StaffPlaces.vue'), meta: { kind: 'staff' } },
    { path: '/staff/places/:id', component: () => import('./views/StaffPlace.vue'), meta: { kind: 'staff' } },
    { path: '/staff/enterprises', component: () => import('./views/StaffEnterprises.vue'), meta: { kind: 'staff' } },
    { path: '/staff/enterprises/:id', component: () => import('./views/StaffEnterprise.vue'), meta: { kind: 'staff' } },
    // 今日访客: an enterprise's visitors today (docs/enterprise.md "Visitors")
    { path: '/staff/visitors-today', component: () => import('./views/StaffVisitorsToday.vue'), meta: { kind: 'staff' } },
    // 巡查与体征检查: the doctor's round of today (docs/cases.md "The doctor's round")
    { path: '/staff/patrol', component: () => import('./views/StaffPatrol.vue'), meta: { kind: 'staff' } },
    // 出入登记: a gate's day and the manual entry (docs/access.md "Manual entry")
    { path: '/staff/access-log', component: () => import('./views/StaffAccessLog.vue'), meta: { kind: 'staff' } },
    // 检测结果录入: the laboratory enters a box's or a tube's results (docs/nat.md "Laboratory")
    { path: '/staff/lab-results', component: () => import('./views/StaffLabResults.vue'), meta: { kind: 'staff' } },
    { path: '/:rest(.*)*', redirect: '/login' },
  ],
});

// Where a resident stands decides the one page they may be on.
function residentStep(me) {
  if (resident.consent.state !== 'given') return '/consent';
  return me.person_id ? '/me' : '/register';
}

router.beforeEach(async (to) => {
  if (!session.loaded) await loadMe();
  const me = session.me;
  if (!me) return to.meta.public ? true : '/login';
  // choices and labels come from the server's vocabularies (vocab.js)
  await loadVocabularies().catch(() => {});
  if (me.kind === 'resident') {
    if (!resident.consent) await loadConsent();
    const step = residentStep(me);
    // without current consent, or before registering, only that step;
    // once registered, every resident page but those two
    if (step !== '/me') return to.path === step ? true : step;
    return to.meta.kind === 'resident' && to.path !== '/consent' && to.path !== '/register' ? true : '/me';
  }
  // the server refuses everything else until a pending password change is done
  if (me.pending === 'password_change') return to.path === '/staff/password' ? true : '/staff/password';
  return to.meta.kind === 'staff' ? true : '/staff';
});

export default router;
