from channels import route
{% for name in consumers %}
def {{ name }}(message):
    pass
{% endfor %}
