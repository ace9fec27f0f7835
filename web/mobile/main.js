import { createApp } from 'vue';
import Vant from 'vant';
import 'vant/lib/index.css';
import { setUnauthorizedHandler } from '@shared/api.js';
import { session } from '@shared/session.js';
import App from './App.vue';
import router from './router.js';
import { forgetResident } from './resident.js';

// A session that ends (expired, signed out elsewhere) sends the user back
// to sign-in with nothing of the previous user left in memory.
setUnauthorizedHandler(() => {
  session.me = null;
  forgetResident();
  if (router.currentRoute.value.path !== '/login') router.replace('/login');
});

createApp(App).use(Vant).use(router).mount('#app');
