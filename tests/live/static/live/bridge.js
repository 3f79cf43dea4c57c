// Test harness for tests/test_websocketbridge.py: startBridge() connects a
// WebSocketBridge and writes what it sees into window.seen, which the tests
// read through Selenium.
window.seen = {received: [], events: []};

window.startBridge = function (path, options) {
  var bridge = new channels.WebSocketBridge();
  bridge.connect(path, undefined, options);
  bridge.listen(function (action, stream) {
    seen.received.push({action: action, stream: stream, via: "listen"});
  });
  ["numbers", "letters"].forEach(function (name) {
    bridge.demultiplex(name, function (action, stream) {
      seen.received.push({action: action, stream: stream, via: "demultiplex " + name});
    });
  });
  bridge.socket.addEventListener("open", function () {
    seen.events.push({type: "open"});
    document.getElementById("status").textContent = "open";
  });
  bridge.socket.addEventListener("close", function (event) {
    seen.events.push({type: "close", code: event.code, willReconnect: event.willReconnect,
                      reconnectDelay: event.reconnectDelay, readyState: bridge.socket.readyState});
    document.getElementById("status").textContent = "closed " + event.code;
  });
  bridge.socket.addEventListener("error", function (event) {
    seen.events.push({type: "error", code: event.code || null, unsent: event.unsent || null});
  });
  window.bridge = bridge;
  return bridge.socket.url;
};

// Call bridge.send(message) and return null, or the error it threw as {name, code}.
window.trySend = function (message) {
  try {
    bridge.send(message);
    return null;
  } catch (error) {
    return {name: error.name, code: error.code || null, message: error.message};
  }
};

window.countEvents = function (type) {
  return seen.events.filter(function (event) { return event.type === type; }).length;
};
