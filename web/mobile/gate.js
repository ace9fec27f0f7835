// The gate a checkpoint's staff stand at (扫码核验 and 出入登记): the enabled
// venues of their scope to pick from, and the last one picked, kept on the
// phone, since the staff stand at the same gate all shift.
import { ref, computed } from 'vue';
import { showToast } from 'vant';
import { get } from '@shared/api.js';

const LAST_VENUE = 'fk.scan.venue';

export function useGate() {
  const venues = ref([]);
  const venue = ref(null);
  const picking = ref(false);
  const venueActions = computed(() => venues.value.map((v) => ({ name: v.name, subname: v.place_name, id: v.id })));

  async function loadVenues() {
    try {
      venues.value = (await get('/api/v1/venues?enabled=1&page_size=100')).items;
    } catch (e) {
      showToast(e.message);
    }
    venue.value = venues.value.find((v) => v.id === localStorage.getItem(LAST_VENUE)) || (venues.value.length === 1 ? venues.value[0] : null);
  }

  function pick(a) {
    venue.value = venues.value.find((v) => v.id === a.id);
    localStorage.setItem(LAST_VENUE, a.id);
    picking.value = false;
  }

  return { venues, venue, picking, venueActions, loadVenues, pick };
}
