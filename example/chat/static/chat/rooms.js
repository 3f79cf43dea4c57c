// Keep the room list current: RoomBinding (chat/bindings.py) sends every
// change to a room to the sockets on /chat/.
(function () {
  var list = document.getElementById("rooms");
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + window.location.host + "/chat/");

  socket.onmessage = function (event) {
    var change = JSON.parse(event.data).payload;
    var item = list.querySelector('li[data-pk="' + change.pk + '"]');
    if (change.action === "delete") {
      if (item) item.remove();
      return;
    }
    if (!item) {
      item = document.createElement("li");
      item.dataset.pk = change.pk;
      item.appendChild(document.createElement("a"));
      list.appendChild(item);
    }
    item.firstChild.href = "/rooms/" + change.data.name + "/";
    item.firstChild.textContent = change.data.title;
  };
})();
