// The incidents catalogue (types, transitions, radii) fetched once per tab and shared by the pages.
import { ref, type Ref } from 'vue'
import { getCatalogue, type Catalogue } from '../../api/incidents.ts'

const catalogue = ref<Catalogue | null>(null)
let loading: Promise<Catalogue | null> | null = null

/** The catalogue (null until loaded); a failed load is retried on the next call. */
export function useCatalogue(): { catalogue: Ref<Catalogue | null>; load: () => Promise<Catalogue | null> } {
  function load(): Promise<Catalogue | null> {
    if (catalogue.value) return Promise.resolve(catalogue.value)
    if (!loading) {
      loading = getCatalogue()
        .then((c) => (catalogue.value = c))
        .catch(() => {
          loading = null
          return null
        })
    }
    return loading
  }
  void load()
  return { catalogue, load }
}
