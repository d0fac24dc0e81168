// Pieces every view shares: a scene card, loading/error/empty states, the views' sub-navigation.
import React from "react";
import { Link, NavLink } from "react-router-dom";
import { Alert, Card, Nav, Spinner } from "react-bootstrap";
import type { Card as CardData } from "./api";
import { ROUTE, errorText, useToast } from "./pluginApi";

export function clock(seconds: number | null | undefined): string {
  if (seconds == null) return "";
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const parts = hms[0] ? hms : hms.slice(1);
  return parts.map((v, i) => (i ? String(v).padStart(2, "0") : String(v))).join(":");
}

export function megabytes(bytes: number | null | undefined): string {
  return bytes == null ? "" : `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

/** Where a click takes the user: the scene, at ``time`` seconds when given (Stash's ?t=). */
export function sceneLink(id: string, time?: number): string {
  return time == null ? `/scenes/${id}` : `/scenes/${id}?t=${Math.floor(time)}`;
}

export const SceneCard: React.FC<{ scene: CardData; time?: number; children?: React.ReactNode }> = ({
  scene,
  time,
  children,
}) => (
  <Card className="stashtag-card" data-scene={scene.id}>
    <Link to={sceneLink(scene.id, time)} className="stashtag-thumb">
      {scene.screenshot ? <img src={scene.screenshot} alt="" loading="lazy" /> : null}
      {time != null ? <span className="stashtag-at">{clock(time)}</span> : null}
    </Link>
    <Card.Body>
      <Link to={sceneLink(scene.id, time)} className="stashtag-title">
        {scene.title || `Scene ${scene.id}`}
      </Link>
      <div className="stashtag-meta">
        {[scene.studio, clock(scene.duration), scene.height ? `${scene.height}p` : ""]
          .filter(Boolean)
          .join(" · ")}
      </div>
      {children}
    </Card.Body>
  </Card>
);

export const Loading: React.FC<{ what: string }> = ({ what }) => (
  <div className="stashtag-loading" role="status">
    <Spinner animation="border" size="sm" /> {what}
  </div>
);

export const Failure: React.FC<{ error: unknown }> = ({ error }) => (
  <Alert variant="danger" className="stashtag-error">
    {errorText(error)}
  </Alert>
);

export const Empty: React.FC<{ children: React.ReactNode }> = ({ children }) => (
  <div className="stashtag-empty">{children}</div>
);

export const Views: React.FC = () => (
  <Nav variant="tabs" className="stashtag-views">
    {[
      ["search", "Search"],
      ["review", "Review"],
      ["duplicates", "Duplicates"],
    ].map(([path, label]) => (
      <Nav.Item key={path}>
        <NavLink to={`${ROUTE}/${path}`} className="nav-link" activeClassName="active">
          {label}
        </NavLink>
      </Nav.Item>
    ))}
  </Nav>
);

/** Runs ``load`` when ``key`` changes; returns its state. */
export function useOperation<T>(load: () => Promise<T>, key: unknown[]) {
  const [state, setState] = React.useState<{ data?: T; error?: unknown; loading: boolean }>({
    loading: true,
  });
  const reload = React.useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, key);
  React.useEffect(reload, [reload]);
  return { ...state, reload };
}

/** A button's action: busy while it runs, its message (or error) as a toast, then ``onDone``. */
export function useAction(onDone: () => void) {
  const toast = useToast();
  const [busy, setBusy] = React.useState(false);
  const act = async (run: () => Promise<string>) => {
    setBusy(true);
    try {
      toast.success(await run());
      onDone();
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, act };
}

/** A page of the plugin's views listing what ``load`` answers: the views' tabs, the first
 * load's spinner, an error, the empty state, then ``children(data, reload)``. */
export function ListPage<T>(props: {
  load: () => Promise<T>;
  loading: string;
  empty: (data: T) => string | false;
  children: (data: T, reload: () => void) => React.ReactNode;
}) {
  const { data, error, loading, reload } = useOperation(props.load, []);
  const empty = data !== undefined && props.empty(data);
  return (
    <div className="stashtag-page">
      <Views />
      {loading && data === undefined ? <Loading what={props.loading} /> : null}
      {error ? <Failure error={error} /> : null}
      {empty ? <Empty>{empty}</Empty> : null}
      {data !== undefined ? props.children(data, reload) : null}
    </div>
  );
}
