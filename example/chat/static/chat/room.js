// One chat room: a WebSocket to ChatConsumer (chat/consumers.py) at /chat/<room>/.
(function () {
  var room = JSON.parse(document.getElementById("room-name").textContent);
  var status = document.getElementById("status");
  var messages = document.getElementById("messages");
  var input = document.getElementById("message");
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + window.location.host + "/chat/" + room + "/");

  function show(text, className) {
    var item = document.createElement("li");
    item.textContent = text;
    item.className = className;
    messages.appendChild(item);
  }

  socket.onopen = function () { status.textContent = "Connected"; };
  socket.onclose = function () { status.textContent = "Disconnected"; };
  socket.onmessage = function (event) {
    var data = JSON.parse(event.data);
    if (data.error) {
      show(data.error, "error");
    } else {
      show(data.user + ": " + data.message, "message");
    }
  };

  document.getElementById("send").addEventListener("submit", function (event) {
    event.preventDefault();
    if (socket.readyState === WebSocket.OPEN && input.value) {
      socket.send(JSON.stringify({message: input.value}));
      input.value = "";
    }
  });
})();
