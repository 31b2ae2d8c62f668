// TanStack Query cache invalidation, as the contract's "Frontend Behavior" describes it: each message
// marks the queries it changes as stale, and RESUME_TOO_OLD (events purged while away) marks them all.
// React shown; the same three listeners work with TanStack Query for Vue, Solid or Svelte.
import { useEffect, useState } from "react";
import { QueryClient, useQuery, useQueryClient } from "@tanstack/react-query";
import { OpsBridgeClient, invalidatedQueries, type ConnectionState } from "@ops-bridge/client";

export const queryClient = new QueryClient();

// One client for the app. The token function is called on every connect and before each expiry
// (refreshed in-band, the socket stays open); getAccessToken is your identity provider's.
declare function getAccessToken(): Promise<string>;
export const stream = new OpsBridgeClient({
  url: "wss://ops.example.com/api/ws",
  token: () => getAccessToken(),
  topics: ["incidents", "tasks", "assets", "alerts", "metrics", "notifications"],
  storage: window.localStorage, // keeps the last 50 notifications across reloads
});

/** Call once near the root, inside <QueryClientProvider client={queryClient}>. */
export function useOpsBridgeInvalidation(): void {
  const client = useQueryClient();
  useEffect(() => {
    const stopEvents = stream.on("event", (message) => {
      for (const queryKey of invalidatedQueries(message)) void client.invalidateQueries({ queryKey });
    });
    // The stream cannot say everything that changed: re-fetch whatever is on screen.
    const stopRefetch = stream.on("refetch", () => void client.invalidateQueries());
    stream.connect();
    return () => {
      stopEvents();
      stopRefetch();
      stream.close();
    };
  }, [client]);
}

/** The connection state for a header badge ("live", "reconnecting in 6 s (attempt 2 of 5)", ...). */
export function useConnectionState(): ConnectionState {
  const [state, setState] = useState(stream.state);
  useEffect(() => stream.on("state", setState), []);
  return state;
}

// A query the messages keep fresh: ["incidents"] is what an incident message invalidates.
export function useOpenIncidents() {
  return useQuery({
    queryKey: ["incidents", "open"],
    queryFn: async () => {
      const response = await fetch("/api/incidents?status=open,in_progress&sort=severity", { credentials: "include" });
      return (await response.json()).items;
    },
  });
}
