// Open a WebSocket to the server this page came from, send one message and
// show the reply in #reply.
window.addEventListener("load", function () {
  var status = document.getElementById("status");
  var reply = document.getElementById("reply");
  var socket = new WebSocket("ws://" + window.location.host + "/ws/echo/");
  status.textContent = "connecting";
  socket.onopen = function () {
    status.textContent = "open";
    socket.send("hello from the browser");
  };
  socket.onmessage = function (event) {
    reply.textContent = event.data;
  };
  socket.onerror = function () {
    status.textContent = "error";
  };
  socket.onclose = function (event) {
    status.textContent = "closed " + event.code;
  };
});
