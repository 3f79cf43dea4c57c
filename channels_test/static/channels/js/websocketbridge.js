/*!
 * channels_test WebSocketBridge: JSON messages between a page and the
 * consumers of a channels_test project, over a WebSocket that reconnects.
 *
 * Load it with {% static "channels/js/websocketbridge.js" %}; it defines
 * channels.WebSocketBridge (and channels.ReconnectingWebSocket). It is also a
 * CommonJS and an AMD module. No build step, no dependencies.
 *
 *   const bridge = new channels.WebSocketBridge();
 *   bridge.connect("/ws/");
 *   bridge.listen(function (action, stream) { console.log(action, stream); });
 *   bridge.send({hello: "world"});
 *   bridge.stream("chat").send({message: "hi"});
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module && module.exports) {
    module.exports = factory();
  } else if (typeof define === "function" && define.amd) {
    define([], factory);
  } else {
    root.channels = Object.assign(root.channels || {}, factory());
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  const CONNECTING = 0;
  const OPEN = 1;
  const CLOSING = 2;
  const CLOSED = 3;

  /** The options of connect(), with their defaults (the first six are 1.x's). */
  const DEFAULT_OPTIONS = Object.freeze({
    // Milliseconds before the first reconnection attempt: a random value
    // between this and twice this, so that many pages do not come back at once.
    minReconnectionDelay: 1500,
    // Each further attempt waits this many times longer than the one before...
    reconnectionDelayGrowFactor: 1.3,
    // ...but never longer than this.
    maxReconnectionDelay: 10000,
    // An attempt whose handshake has not finished after this long is given up.
    connectionTimeout: 4000,
    // Attempts in a row that may fail before the socket stays closed; 0 turns
    // reconnection off.
    maxRetries: Infinity,
    debug: false,
    // Messages send() keeps while the socket is not open; one more throws.
    maxQueuedMessages: 1000,
    // The WebSocket class to use (the browser's by default).
    WebSocket: null,
  });

  const report = typeof reportError === "function"
    ? reportError
    : function (error) { setTimeout(function () { throw error; }); };

  function bridgeError(code, message) {
    const error = new Error(message);
    error.code = code;
    return error;
  }

  /** Return an event of `type`, built with `Constructor` where there is one, carrying `fields`. */
  function makeEvent(Constructor, type, init, fields) {
    const event = typeof Constructor === "function" ? new Constructor(type, init) : new Event(type);
    const all = Object.assign({}, typeof Constructor === "function" ? {} : init, fields);
    for (const name of Object.keys(all)) {
      Object.defineProperty(event, name, {value: all[name], enumerable: true});
    }
    return event;
  }

  function isWebSocketClass(candidate) {
    return typeof candidate === "function" && candidate.CLOSING === CLOSING;
  }

  /** Merge `given` over the defaults, warning about names this client does not know. */
  function settle(given) {
    const options = Object.assign({}, DEFAULT_OPTIONS);
    for (const name of Object.keys(given || {})) {
      if (name === "constructor") {
        options.WebSocket = given.constructor;  // 1.x's name for the WebSocket class
      } else if (Object.prototype.hasOwnProperty.call(DEFAULT_OPTIONS, name)) {
        options[name] = given[name];
      } else {
        console.warn('WebSocketBridge: unknown option "' + name + '" is ignored; the options are '
          + Object.keys(DEFAULT_OPTIONS).join(", ") + ".");
      }
    }
    for (const name of Object.keys(DEFAULT_OPTIONS)) {
      const fallback = DEFAULT_OPTIONS[name];
      if (typeof fallback === "number" && !(typeof options[name] === "number" && options[name] >= 0)) {
        console.warn("WebSocketBridge: option " + name + " must be a number of at least 0, not "
          + String(options[name]) + "; using " + fallback + ".");
        options[name] = fallback;
      }
    }
    if (options.WebSocket === null && typeof WebSocket !== "undefined") {
      options.WebSocket = WebSocket;
    }
    if (!isWebSocketClass(options.WebSocket)) {
      throw new TypeError("WebSocketBridge: no WebSocket class here; pass one as the WebSocket option.");
    }
    return options;
  }

  /**
   * A WebSocket that opens itself again when the connection drops.
   *
   * It is used like a WebSocket: send(), close(), readyState, and the events
   * open, message, close and error (addEventListener or the on... properties).
   * Listeners stay in place across reconnections. send() never writes to a
   * socket that is not open: what it is given meanwhile waits in a queue
   * (at most maxQueuedMessages) and goes out, in order, once the socket is
   * open again, after the open listeners ran.
   */
  class ReconnectingWebSocket extends EventTarget {
    constructor(url, protocols, options) {
      super();
      this._options = settle(options);
      this._url = String(url);
      this._protocols = protocols;
      this._socket = null;         // the WebSocket of the current attempt
      this._state = CONNECTING;
      this._queue = [];
      this._failures = 0;          // attempts in a row that did not open
      this._delay = 0;             // milliseconds the last reconnection waited
      this._reconnectTimer = null;
      this._handshakeTimer = null;
      this._closedForGood = false; // close() with keepClosed was called
      this._nextDelay = undefined; // the delay close() asked for, used once
      this._binaryType = "blob";
      this.onopen = null;
      this.onmessage = null;
      this.onclose = null;
      this.onerror = null;
      this._open();
    }

    get url() { return this._url; }
    get protocol() { return this._socket ? this._socket.protocol : ""; }
    get extensions() { return this._socket ? this._socket.extensions : ""; }
    get bufferedAmount() { return this._socket ? this._socket.bufferedAmount : 0; }
    /** How many messages wait for the socket to open. */
    get queuedCount() { return this._queue.length; }

    /** CONNECTING also while a reconnection is pending; CLOSED only once it will not reopen. */
    get readyState() {
      if (this._state === OPEN && this._socket) {
        return this._socket.readyState;
      }
      return this._state;
    }

    get binaryType() { return this._binaryType; }
    set binaryType(value) {
      this._binaryType = value;
      if (this._socket) {
        this._socket.binaryType = value;
      }
    }

    /**
     * Send `data` now if the socket is open, else queue it for when it is.
     *
     * Throws an Error with code "EQUEUEFULL" when maxQueuedMessages already
     * wait (the message is not queued), and one with code "ECLOSED" once the
     * socket is closed for good.
     */
    send(data) {
      if (this._state === CLOSED || this._closedForGood) {
        throw bridgeError("ECLOSED", "WebSocketBridge: the socket to " + this._url
          + " is closed and will not reopen, so the message was not sent; connect() again to send more.");
      }
      if (this._state === OPEN && this._socket.readyState === OPEN) {
        this._socket.send(data);
        return;
      }
      if (this._queue.length >= this._options.maxQueuedMessages) {
        throw bridgeError("EQUEUEFULL", "WebSocketBridge: " + this._queue.length
          + " messages already wait for the socket to " + this._url + " to reopen, so this one was not queued; "
          + "raise maxQueuedMessages, or check readyState before sending.");
      }
      this._queue.push(data);
    }

    /**
     * Close the connection. As in Channels 1.x, it reconnects afterwards
     * unless keepClosed is true; delay sets the wait before it does, and
     * fastClose (the default) fires the close event at once instead of after
     * the closing handshake. Closing for good drops the queued messages.
     * Once the socket is closed for good, close() does nothing.
     */
    close(code, reason, options) {
      const settings = Object.assign({keepClosed: false, fastClose: true, delay: undefined}, options);
      if (this._state === CLOSED) {
        return;
      }
      const socket = this._socket;
      if (socket) {
        socket.close(code === undefined ? 1000 : code, reason === undefined ? "" : reason);
      }
      if (settings.keepClosed) {
        this._closedForGood = true;
        this._queue = [];
      }
      if (settings.delay !== undefined) {
        this._nextDelay = settings.delay;
      }
      if (!socket) {
        clearTimeout(this._reconnectTimer);
        if (settings.keepClosed) {
          this._state = CLOSED;
        } else {
          this._scheduleReconnect();
        }
      } else if (settings.fastClose) {
        this._lost(socket, {code: code === undefined ? 1000 : code, reason: reason || "", wasClean: true});
      }
    }

    _log() {
      if (this._options.debug) {
        console.debug.apply(console, ["WebSocketBridge:"].concat(Array.from(arguments)));
      }
    }

    _open() {
      this._log("connecting to", this._url);
      const socket = new this._options.WebSocket(this._url, this._protocols);
      socket.binaryType = this._binaryType;
      this._socket = socket;
      this._state = CONNECTING;
      socket.onopen = () => this._opened(socket);
      socket.onmessage = (event) => {
        if (this._socket === socket) {
          this._emit(makeEvent(globalThis.MessageEvent, "message",
            {data: event.data, origin: event.origin, lastEventId: event.lastEventId}));
        }
      };
      socket.onerror = () => {
        if (this._socket === socket) {
          this._emit(new Event("error"));
        }
      };
      socket.onclose = (event) => this._lost(socket, event);
      this._handshakeTimer = setTimeout(() => {
        if (this._socket === socket && socket.readyState === CONNECTING) {
          this._log("no handshake within", this._options.connectionTimeout, "ms");
          this._emit(makeEvent(null, "error", {}, {code: "ETIMEDOUT",
            message: "No answer from " + this._url + " within " + this._options.connectionTimeout + " ms."}));
          socket.close();
          this._lost(socket, {code: 1006, reason: "", wasClean: false});
        }
      }, this._options.connectionTimeout);
    }

    _opened(socket) {
      if (this._socket !== socket) {
        return;
      }
      clearTimeout(this._handshakeTimer);
      this._log("open");
      this._state = OPEN;
      this._failures = 0;
      this._delay = 0;
      // Open listeners go first: what they send (a re-join, say) goes out
      // before the messages queued while the socket was down.
      this._emit(new Event("open"));
      while (this._queue.length && this._socket === socket && socket.readyState === OPEN) {
        socket.send(this._queue.shift());
      }
    }

    /** Handle the end of `socket`: schedule the next attempt, or stay closed, and tell the listeners. */
    _lost(socket, event) {
      if (this._socket !== socket) {
        return;  // a socket already given up (fast close, timeout)
      }
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      clearTimeout(this._handshakeTimer);
      this._socket = null;
      this._failures += 1;
      let unsent = [];
      if (this._closedForGood) {
        this._state = CLOSED;
      } else if (this._failures > this._options.maxRetries) {
        this._state = CLOSED;
        unsent = this._queue;
        this._queue = [];
      } else {
        this._scheduleReconnect();
      }
      const willReconnect = this._state !== CLOSED;
      this._log("closed with code", event.code, willReconnect ? "; next attempt in " + this._delay + " ms" : "");
      this._emit(makeEvent(globalThis.CloseEvent, "close",
        {code: event.code, reason: event.reason, wasClean: event.wasClean},
        {willReconnect: willReconnect, reconnectDelay: willReconnect ? this._delay : null}));
      if (this._state === CLOSED && !this._closedForGood) {
        this._emit(makeEvent(null, "error", {}, {code: "EHOSTDOWN", unsent: unsent,
          message: "Stopped reconnecting to " + this._url + " after " + this._failures
            + " connection(s) in a row closed without a successful reopen (maxRetries is "
            + this._options.maxRetries + "); " + unsent.length
            + " queued message(s) were not sent (they are in this event's unsent)."}));
      }
    }

    _scheduleReconnect() {
      const options = this._options;
      if (this._nextDelay !== undefined) {
        this._delay = this._nextDelay;
        this._nextDelay = undefined;
      } else if (!this._delay) {
        this._delay = options.minReconnectionDelay * (1 + Math.random());
      } else {
        this._delay = this._delay * options.reconnectionDelayGrowFactor;
      }
      this._delay = Math.min(this._delay, options.maxReconnectionDelay);
      this._state = CONNECTING;
      clearTimeout(this._reconnectTimer);
      this._reconnectTimer = setTimeout(() => this._open(), this._delay);
    }

    _emit(event) {
      const handler = this["on" + event.type];
      if (typeof handler === "function") {
        try {
          handler.call(this, event);
        } catch (error) {
          report(error);
        }
      }
      this.dispatchEvent(event);
    }
  }

  for (const [name, value] of Object.entries({CONNECTING, OPEN, CLOSING, CLOSED})) {
    Object.defineProperty(ReconnectingWebSocket, name, {value: value, enumerable: true});
    Object.defineProperty(ReconnectingWebSocket.prototype, name, {value: value, enumerable: true});
  }

  /** Return the ws:// or wss:// address for `url`, which may be a path of this page's site. */
  function websocketUrl(url) {
    const location = globalThis.location;
    if (url === undefined || url === null) {
      url = "/";  // 1.x: the root of this page's host
    }
    url = String(url);
    if (/^wss?:\/\//i.test(url) || !location) {
      return url;
    }
    const resolved = new URL(url, location.href);
    if (resolved.protocol === "http:" || resolved.protocol === "https:") {
      resolved.protocol = resolved.protocol === "https:" ? "wss:" : "ws:";
      return resolved.href;
    }
    throw new SyntaxError('WebSocketBridge: cannot make a WebSocket address of "' + url
      + '" on a page at ' + location.href + "; give a full ws:// or wss:// URL.");
  }

  /**
   * JSON messages to and from Channels consumers over a ReconnectingWebSocket.
   *
   * Messages of the form {"stream": name, "payload": ...} (what Channels'
   * multiplexer and data binding send) go to the callback demultiplex()
   * registered for `name`; all other messages go to the callback of listen().
   */
  class WebSocketBridge {
    /** `options` are defaults for the options of connect(). */
    constructor(options) {
      this.socket = null;
      this.streams = {};
      this.default_cb = null;
      this.options = Object.assign({}, options);
      this._listening = false;
    }

    /**
     * Open the WebSocket. `url` may be a full ws:// or wss:// address, or a
     * path resolved against this page (wss:// on https:// pages); without it,
     * the root of this page's host. `protocols` is a subprotocol or a list of
     * them; `options` tune reconnection (see ReconnectingWebSocket).
     */
    connect(url, protocols, options) {
      if (options === undefined && protocols && typeof protocols === "object" && !Array.isArray(protocols)) {
        options = protocols;  // connect(url, options), as 1.x's README showed it
        protocols = undefined;
      }
      const previous = this.socket;
      this.socket = new ReconnectingWebSocket(websocketUrl(url), protocols,
        Object.assign({}, this.options, options));
      this.socket.addEventListener("message", (event) => this._dispatch(event));
      if (previous) {
        const waiting = previous._queue;
        previous.close(1000, "", {keepClosed: true});
        waiting.forEach((data) => this.socket.send(data));
      }
    }

    /**
     * Start passing received messages to `callback(action, stream)`: stream
     * messages to their demultiplex() callback, others to `callback`
     * (with stream null). Calling it with no callback passes stream messages only.
     */
    listen(callback) {
      if (callback !== undefined && callback !== null && typeof callback !== "function") {
        console.warn("WebSocketBridge: listen() takes a callback function, not " + typeof callback
          + "; pass the URL to connect(). Only stream messages will be passed on.");
        callback = null;
      }
      this.default_cb = callback || null;
      this._listening = true;
    }

    /** Pass messages of `stream` to `callback(action, stream)` (once listen() was called). */
    demultiplex(stream, callback) {
      this.streams[stream] = callback;
    }

    /** Send `message` as JSON (queued while the socket reconnects). */
    send(message) {
      this._socketOrThrow().send(JSON.stringify(message));
    }

    /** Return an object whose send(action) sends {"stream": stream, "payload": action}. */
    stream(stream) {
      return {
        send: (action) => this._socketOrThrow().send(JSON.stringify({stream: stream, payload: action})),
      };
    }

    _socketOrThrow() {
      if (!this.socket) {
        throw bridgeError("ENOTCONNECTED", "WebSocketBridge: call connect() before sending.");
      }
      return this.socket;
    }

    _dispatch(event) {
      if (!this._listening || typeof event.data !== "string") {
        return;
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        throw new SyntaxError("WebSocketBridge: a message from " + this.socket.url
          + " is not JSON (" + error.message + "): " + event.data.slice(0, 100));
      }
      if (message !== null && typeof message === "object" && message.stream !== undefined) {
        const callback = this.streams[message.stream];
        if (callback) {
          callback(message.payload, message.stream);
        }
      } else if (this.default_cb) {
        this.default_cb(message, null);
      }
    }
  }

  return {WebSocketBridge: WebSocketBridge, ReconnectingWebSocket: ReconnectingWebSocket};
});
