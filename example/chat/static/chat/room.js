// One chat room: a WebSocketBridge to ChatConsumer (chat/consumers.py) at
// /chat/<room>/. The bridge reconnects when the connection drops, and keeps
// what is sent meanwhile until the socket is open again.
(function () {
  var room = JSON.parse(document.getElementById("room-name").textContent);
  var status = document.getElementById("status");
  var messages = document.getElementById("messages");
  var input = document.getElementById("message");
  var bridge = new channels.WebSocketBridge();
  bridge.connect("/chat/" + room + "/");

  function show(text, className) {
    var item = document.createElement("li");
    item.textContent = text;
    item.className = className;
    messages.appendChild(item);
  }

  bridge.socket.addEventListener("open", function () { status.textContent = "Connected"; });
  bridge.socket.addEventListener("close", function (event) {
    status.textContent = event.willReconnect ? "Reconnecting…" : "Disconnected";
  });
  bridge.listen(function (data) {
    if (data.error) {
      show(data.error, "error");
    } else {
      show(data.user + ": " + data.message, "message");
    }
  });

  document.getElementById("send").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!input.value) {
      return;
    }
    try {
      bridge.send({message: input.value});  // queued while reconnecting
      input.value = "";
    } catch (error) {
      show(error.message, "error");  // the queue is full, or the socket gave up
    }
  });
})();
