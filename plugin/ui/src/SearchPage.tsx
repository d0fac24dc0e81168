// Text search over the library's frames: "a beach at night" → scenes, each at its best frame.
import React from "react";
import { useHistory, useLocation } from "react-router-dom";
import { Button, Form, InputGroup } from "react-bootstrap";
import { search } from "./api";
import type { Hit } from "./api";
import { Empty, Failure, Loading, SceneCard, Views } from "./components";
import { ROUTE, stashComponent, useStashPickers } from "./pluginApi";

type FilterKey = "tag" | "studio";
// the optional filters: [URL key, label, placeholder, Stash's own picker for it]
const FILTERS: [FilterKey, string, string, string][] = [
  ["tag", "Only scenes with this tag", "with tag (optional)", "TagSelect"],
  ["studio", "Only scenes of this studio", "of studio (optional)", "StudioSelect"],
];

/** A filter by name: Stash's own picker inside Stash (never creating a tag or studio), a text
 * box where it is missing. The URL keeps the name either way. */
const Filter: React.FC<{
  spec: (typeof FILTERS)[number];
  value: string;
  onChange: (name: string) => void;
}> = ({ spec: [key, label, placeholder, picker], value, onChange }) => {
  const Picker = stashComponent(picker);
  if (Picker) {
    return (
      <div className={`stashtag-filter stashtag-filter-${key}`} title={label}>
        <Picker
          isMulti={false}
          isClearable
          creatable={false}
          noSelectionString={placeholder}
          values={value ? [{ id: value, name: value }] : []}
          onSelect={(items: { name: string }[]) => onChange(items[0]?.name ?? "")}
        />
      </div>
    );
  }
  return (
    <Form.Control
      size="sm"
      aria-label={label}
      placeholder={placeholder}
      value={value}
      onChange={(e: React.ChangeEvent<HTMLInputElement>) => onChange(e.target.value)}
    />
  );
};

export const SearchPage: React.FC = () => {
  const location = useLocation();
  const history = useHistory();
  const params = new URLSearchParams(location.search);
  const query = params.get("q") ?? "";
  const tag = params.get("tag") ?? "";
  const studio = params.get("studio") ?? "";
  const pickersLoading = useStashPickers();
  const [text, setText] = React.useState(query);
  const [filter, setFilter] = React.useState({ tag, studio });
  const [state, setState] = React.useState<{ hits?: Hit[]; error?: unknown; loading: boolean }>({
    loading: false,
  });

  React.useEffect(() => {
    setText(query);
    setFilter({ tag, studio });
    if (!query) return setState({ loading: false });
    let live = true;
    setState({ loading: true });
    search(query, { tag: tag || undefined, studio: studio || undefined }).then(
      (out) => live && setState({ hits: out.hits, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [query, tag, studio]);

  const submit = (e: React.FormEvent) => {
    e.preventDefault(); // the query goes into the URL: back and reload keep it
    if (!text.trim()) return;
    const next = new URLSearchParams({ q: text.trim() });
    if (filter.tag.trim()) next.set("tag", filter.tag.trim());
    if (filter.studio.trim()) next.set("studio", filter.studio.trim());
    history.push(`${ROUTE}/search?${next.toString()}`);
  };

  return (
    <div className="stashtag-page">
      <Views />
      <Form onSubmit={submit} className="stashtag-search">
        <InputGroup>
          <Form.Control
            autoFocus
            aria-label="Search the frames of your scenes"
            placeholder="Describe what you look for, e.g. a beach at night"
            value={text}
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => setText(e.target.value)}
          />
          <InputGroup.Append>
            <Button type="submit" variant="primary" disabled={!text.trim() || state.loading}>
              Search
            </Button>
          </InputGroup.Append>
        </InputGroup>
        <div className="stashtag-filters">
          {(pickersLoading ? [] : FILTERS).map((spec) => (
            <Filter
              key={spec[0]}
              spec={spec}
              value={filter[spec[0]]}
              onChange={(name) => setFilter({ ...filter, [spec[0]]: name })}
            />
          ))}
        </div>
      </Form>
      {state.loading ? <Loading what="Searching…" /> : null}
      {state.error ? <Failure error={state.error} /> : null}
      {state.hits && !state.hits.length ? (
        <Empty>
          No tagged scene{tag ? ` with tag “${tag}”` : ""}
          {studio ? ` of studio “${studio}”` : ""} matches “{query}”.
        </Empty>
      ) : null}
      <div className="stashtag-grid">
        {(state.hits ?? []).map((hit) => (
          <SceneCard key={hit.id} scene={hit} time={hit.time}>
            <div className="stashtag-score" title="cosine of the best frame with the text">
              match {hit.score.toFixed(3)}
            </div>
          </SceneCard>
        ))}
      </div>
    </div>
  );
};
