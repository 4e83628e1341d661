// A small graphql-transport-ws client (the protocol of github.com/enisdenjo/graphql-ws) for one subscription:
// connection_init with the token and tenant, subscribe, next/error/complete, ping/pong; it reconnects with a
// fresh token after a close and resumes after the last event's cursor, so nothing is missed.

import {refresh} from './api.js';
import {ApiError} from './errors.js';
import {expiring, session} from './session.js';

const PROTOCOL = 'graphql-transport-ws';

/**
 * subscribe({query, variables, cursorOf, onNext, onError, onStatus}) -> stop()
 * variables(after) gives the variables for a (re)start after the last cursor seen.
 */
export function subscribe({query, variables, cursorOf, onNext, onError, onStatus}) {
  let socket = null;
  let stopped = false;
  let after = null;
  let retry = 0;
  let timer = null;

  async function connect() {
    if (stopped) return;
    try {
      if (expiring()) await refresh();
    } catch (error) {
      onError(error);
      return;
    }
    const current = session();
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;  // this origin only
    socket = new WebSocket(url, PROTOCOL);
    onStatus('connecting');
    socket.onopen = () => {
      const payload = {tenant: current?.tenant};
      if (current?.accessToken) payload.authorization = `Bearer ${current.accessToken}`;
      socket.send(JSON.stringify({type: 'connection_init', payload}));
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === 'connection_ack') {
        retry = 0;
        onStatus('live');
        socket.send(JSON.stringify({id: '1', type: 'subscribe', payload: {query, variables: variables(after)}}));
      } else if (data.type === 'next') {
        const errors = data.payload.errors;
        if (errors && errors.length) {
          onError(ApiError.from(errors[0]));
          return;
        }
        const cursor = cursorOf(data.payload.data);
        if (cursor) after = cursor;
        onNext(data.payload.data);
      } else if (data.type === 'error') {
        stopped = true;
        onError(ApiError.from(data.payload[0] || {}));
      } else if (data.type === 'ping') {
        socket.send(JSON.stringify({type: 'pong'}));
      } else if (data.type === 'complete') {
        onStatus('ended');
      }
    };
    socket.onclose = (event) => {
      if (stopped) {
        onStatus('stopped');
        return;
      }
      onStatus(`reconnecting (${event.code})`);
      const renew = event.code === 4403 ? refresh().catch(() => undefined) : Promise.resolve();
      retry = Math.min(retry + 1, 6);
      timer = setTimeout(() => renew.then(connect), 500 * 2 ** retry);
    };
  }

  connect();
  return function stop() {
    stopped = true;
    clearTimeout(timer);
    if (socket && socket.readyState <= 1) {
      if (socket.readyState === 1) socket.send(JSON.stringify({id: '1', type: 'complete'}));
      socket.close(1000);
    }
  };
}
